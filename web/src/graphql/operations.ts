/**
 * Every GraphQL document the app sends. `npm run codegen` validates them against
 * schema.graphql and generates their result and variable types into ./gql, so a contract
 * change breaks the build rather than the user. Documents cannot interpolate: reuse
 * selections through the fragments below.
 */
import { graphql } from './gql';

// ---- fragments ----------------------------------------------------------------------

export const UserFields = graphql(`
  fragment UserFields on User {
    id
    email
    displayName
    role
  }
`);

export const AuthFields = graphql(`
  fragment AuthFields on AuthPayload {
    accessToken
    refreshToken
    accessTokenExpiresAt
    user {
      ...UserFields
    }
  }
`);

export const AssetFields = graphql(`
  fragment AssetFields on Asset {
    id
    symbol
    name
    kind
    decimals
  }
`);

export const TickerFields = graphql(`
  fragment TickerFields on Ticker {
    market
    last
    bestBid
    bestAsk
    open24h
    high24h
    low24h
    volume24h
  }
`);

export const MarketFields = graphql(`
  fragment MarketFields on Market {
    id
    symbol
    base {
      ...AssetFields
    }
    quote {
      ...AssetFields
    }
    tickSize
    lotSize
    minQuantity
    status
    makerFeeBps
    takerFeeBps
  }
`);

export const TradeFields = graphql(`
  fragment TradeFields on Trade {
    id
    market
    sequence
    price
    quantity
    takerSide
    executedAt
  }
`);

export const OrderFields = graphql(`
  fragment OrderFields on Order {
    id
    clientOrderId
    market {
      symbol
    }
    side
    type
    timeInForce
    postOnly
    price
    quantity
    filledQuantity
    averagePrice
    status
    reason
    createdAt
    updatedAt
  }
`);

export const FillFields = graphql(`
  fragment FillFields on Fill {
    tradeId
    orderId
    market
    side
    price
    quantity
    fee
    feeAsset
    liquidity
    executedAt
  }
`);

export const BalanceFields = graphql(`
  fragment BalanceFields on Balance {
    asset {
      symbol
      decimals
    }
    available
    held
    total
  }
`);

export const ApiKeyFields = graphql(`
  fragment ApiKeyFields on ApiKey {
    id
    name
    prefix
    scopes
    createdAt
    lastUsedAt
    revokedAt
  }
`);

// ---- auth ---------------------------------------------------------------------------

export const LoginMutation = graphql(`
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      ...AuthFields
    }
  }
`);

export const RegisterMutation = graphql(`
  mutation Register($input: RegisterInput!) {
    register(input: $input) {
      ...AuthFields
    }
  }
`);

export const RefreshMutation = graphql(`
  mutation Refresh($refreshToken: String!) {
    refresh(refreshToken: $refreshToken) {
      ...AuthFields
    }
  }
`);

export const LogoutMutation = graphql(`
  mutation Logout($refreshToken: String!) {
    logout(refreshToken: $refreshToken)
  }
`);

export const MeQuery = graphql(`
  query Me {
    me {
      ...UserFields
      createdAt
    }
  }
`);

export const ChangePasswordMutation = graphql(`
  mutation ChangePassword($currentPassword: String!, $newPassword: String!) {
    changePassword(currentPassword: $currentPassword, newPassword: $newPassword)
  }
`);

export const ApiKeysQuery = graphql(`
  query ApiKeys {
    apiKeys {
      ...ApiKeyFields
    }
  }
`);

export const CreateApiKeyMutation = graphql(`
  mutation CreateApiKey($name: String!, $scopes: [ApiScope!]!) {
    createApiKey(name: $name, scopes: $scopes) {
      apiKey {
        ...ApiKeyFields
      }
      secret
    }
  }
`);

export const RevokeApiKeyMutation = graphql(`
  mutation RevokeApiKey($id: ID!) {
    revokeApiKey(id: $id) {
      ...ApiKeyFields
    }
  }
`);

// ---- market data --------------------------------------------------------------------

export const MarketsQuery = graphql(`
  query Markets {
    markets {
      ...MarketFields
      ticker {
        ...TickerFields
      }
    }
  }
`);

export const MarketQuery = graphql(`
  query Market($symbol: String!) {
    market(symbol: $symbol) {
      ...MarketFields
      ticker {
        ...TickerFields
      }
      trades(limit: 50) {
        ...TradeFields
      }
    }
  }
`);

/** The tape's recent trades, re-read after the `trades` subscription was interrupted. */
export const RecentTradesQuery = graphql(`
  query RecentTrades($symbol: String!) {
    market(symbol: $symbol) {
      symbol
      trades(limit: 50) {
        ...TradeFields
      }
    }
  }
`);

export const CandlesQuery = graphql(`
  query Candles($symbol: String!, $interval: CandleInterval!, $limit: Int) {
    market(symbol: $symbol) {
      symbol
      candles(interval: $interval, limit: $limit) {
        openTime
        open
        high
        low
        close
        volume
      }
    }
  }
`);

export const TickerSubscription = graphql(`
  subscription TickerUpdates($market: String!) {
    ticker(market: $market) {
      ...TickerFields
    }
  }
`);

export const TradesSubscription = graphql(`
  subscription TradeUpdates($market: String!) {
    trades(market: $market) {
      ...TradeFields
    }
  }
`);

export const OrderBookSubscription = graphql(`
  subscription OrderBookUpdates($market: String!, $depth: Int) {
    orderBook(market: $market, depth: $depth) {
      market
      sequence
      snapshot
      bids {
        price
        quantity
        orders
      }
      asks {
        price
        quantity
        orders
      }
    }
  }
`);

// ---- trading ------------------------------------------------------------------------

export const PlaceOrderMutation = graphql(`
  mutation PlaceOrder($input: PlaceOrderInput!) {
    placeOrder(input: $input) {
      ...OrderFields
    }
  }
`);

export const CancelOrderMutation = graphql(`
  mutation CancelOrder($id: ID!) {
    cancelOrder(id: $id) {
      ...OrderFields
    }
  }
`);

export const CancelAllOrdersMutation = graphql(`
  mutation CancelAllOrders($market: String) {
    cancelAllOrders(market: $market) {
      ...OrderFields
    }
  }
`);

export const MyOrdersQuery = graphql(`
  query MyOrders($market: String, $status: [OrderStatus!], $first: Int, $after: String) {
    myOrders(market: $market, status: $status, first: $first, after: $after) {
      edges {
        node {
          ...OrderFields
        }
        cursor
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const MyFillsQuery = graphql(`
  query MyFills($market: String, $first: Int, $after: String) {
    myFills(market: $market, first: $first, after: $after) {
      edges {
        node {
          ...FillFields
        }
        cursor
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const MyBalancesQuery = graphql(`
  query MyBalances {
    myBalances {
      ...BalanceFields
    }
  }
`);

export const MyOrdersSubscription = graphql(`
  subscription MyOrderUpdates {
    myOrders {
      ...OrderFields
    }
  }
`);

export const MyBalancesSubscription = graphql(`
  subscription MyBalanceUpdates {
    myBalances {
      ...BalanceFields
    }
  }
`);

// ---- admin --------------------------------------------------------------------------

export const AssetsQuery = graphql(`
  query Assets {
    assets {
      ...AssetFields
    }
  }
`);

export const CreateAssetMutation = graphql(`
  mutation CreateAsset($input: CreateAssetInput!) {
    createAsset(input: $input) {
      ...AssetFields
    }
  }
`);

export const CreateMarketMutation = graphql(`
  mutation CreateMarket($input: CreateMarketInput!) {
    createMarket(input: $input) {
      ...MarketFields
    }
  }
`);

export const SetMarketStatusMutation = graphql(`
  mutation SetMarketStatus($market: String!, $status: MarketStatus!) {
    setMarketStatus(market: $market, status: $status) {
      ...MarketFields
    }
  }
`);

export const CreditBalanceMutation = graphql(`
  mutation CreditBalance($userId: ID!, $asset: String!, $amount: Decimal!, $memo: String) {
    creditBalance(userId: $userId, asset: $asset, amount: $amount, memo: $memo) {
      ...BalanceFields
    }
  }
`);
